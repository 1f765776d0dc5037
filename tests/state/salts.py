"""encryptionsalt values made by the real engine (pulumi v3.274.1 `pulumi stack init`), for tests that must not
re-derive them with the code under test."""

# `PULUMI_CONFIG_PASSPHRASE=a-team-passphrase pulumi stack init team` on a file:// backend.
TEAM_PASSPHRASE = "a-team-passphrase"
TEAM_SALT = "v1:vVItGiv4oxY=:v1:9ZNqfV+yq/BiyxCb:5YU3RINCrxHD7XIATaK4XKcxxZ5TZA=="
