"""The upload size limit, enforced as the request streams in rather than after it was read whole."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from campaigns.destinations import MAX_BYTES, TOO_BIG


class CappedUploadHandler(FileUploadHandler):
    """First of settings.FILE_UPLOAD_HANDLERS: counts each file's bytes as they arrive and, past MAX_BYTES,
    stops reading the request (the rest is never read). The fields before the file are kept; the view
    finds the reason in `request.upload_refused`."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > MAX_BYTES:
            self.request.upload_refused = TOO_BIG
            raise StopUpload(connection_reset=True)
        return raw_data  # the next handler keeps it (in memory, or past 2 MB a temporary file)

    def file_complete(self, file_size):
        return None
