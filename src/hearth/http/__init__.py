"""HTTP in: function URLs (and, later, API Gateway) served on Hearth's own port.

A request reaches a function by host name (`<url-id>.lambda-url.<region>.localhost`) or by
path (`/lambda-url/<url-id>/...`, for clients that cannot pick a host name). Everything that
maps between HTTP and Lambda's event formats is a pure function in `events.py` / `cors.py`.
"""
