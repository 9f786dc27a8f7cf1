"""The canonical request, the job model and the service that ties them to the store and queue."""
