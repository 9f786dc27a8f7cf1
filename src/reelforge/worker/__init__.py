"""Running jobs: lease one, render it, record the outcome (`run`); hand back runs that went
silent (`reconcile`). Built from the database, blob storage, the catalog and the engines; never
sees a dialect or the HTTP layer."""
