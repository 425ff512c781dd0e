"""Tools for running the storefront on a developer's machine: the demo, its example merchant
site, the production launcher and the threaded dev server. Nothing here is imported by the
storefront itself."""
