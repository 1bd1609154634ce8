"""The web console: a page and its bundle (built from npm packages by scripts/setup.sh into
web/dist), served by `hearth serve` at /console."""
