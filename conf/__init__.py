"""cnnexp's Hydra configs, shipped inside the package as `cnnexp.conf` (see pyproject.toml)."""
