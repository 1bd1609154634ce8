"""The AWS services a Lambda application calls, on Hearth's port, and the triggers they fire.

`scope` tells which service a request is for (its SigV4 credential scope); `embedded` answers
it with moto, in-process; `gateway` is the ASGI app in front of both Hearth's own API and the
embedded services.
"""
