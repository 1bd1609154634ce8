import os

import shared


def handler(event, context):
    return {
        "greeting": os.environ["GREETING"],
        "stage": os.environ["STAGE"],
        "mode": os.environ["MODE"],
        "zone": os.environ["ZONE"],
        "parts": os.environ["PARTS"],
        "self": os.environ["SELF"],
        "shared": shared.VALUE,
    }
