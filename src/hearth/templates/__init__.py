"""SAM / CloudFormation templates: load, translate, resolve, and apply through Hearth's own API.

Pure parts (``loader``, ``translate``, ``intrinsics``, ``parameters``, ``graph``, ``plan``)
do no I/O beyond reading the template; ``apply`` drives a ``Deployer`` (``deployer.Deployer``
is the Protocol, ``boto_deployer`` the implementation against a Hearth endpoint).
"""
