"""infra/data/migration.yaml names each dataset and each service name once (a repeat would copy one twice)."""

from __future__ import annotations

import pytest


def test_the_migration_data_names_each_dataset_once():
    from pydantic import ValidationError

    from infra.catalog import MigrationData, migration_data

    data = migration_data().model_dump(by_alias=True)
    with pytest.raises(ValidationError, match="dataset name"):
        MigrationData.model_validate({**data, "datasets": [*data["datasets"], data["datasets"][0]]})
