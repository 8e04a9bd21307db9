"""Telephony: the Asterisk sandbox, dialplan templates, and the AMI adapter behind ``Telephony``.

``base.Telephony`` is the interface the daemon uses; ``ami.AmiTelephony`` implements it on one
Asterisk server, ``pool.TelephonyPool`` on several; ``sandbox.Sandbox`` runs a real Asterisk for
tests and the demo.
"""
