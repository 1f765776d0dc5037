"""eaf policies: plain functions over resource records (policy/catalog.py), served as a Pulumi policy pack
(policy/__main__.py) where Python packs run, and run on saved preview JSON (policy/preview.py)."""
