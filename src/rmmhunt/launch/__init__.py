"""Launch context of an alert: what started the tool, from where, and with which options.

`processes` classifies a parent or ancestor process, and `paths` classifies the image path.
`commandline` recognises unattended-access and silent-install options and the relay or server
host they name. `context` combines these into the `launch_context` that an alert carries and
that scoring reads.
"""
