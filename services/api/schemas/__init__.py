"""Request and response bodies, one module per resource (Base/Create/Update/Public families)."""
