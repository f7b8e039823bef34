"""broken-server: must fail with class ``server_error``.

``activate`` declares its tables, then inserts default contents inside a
transaction after its own server session was ended (``KILL CONNECTION_ID()``
on MySQL/MariaDB, ``pg_terminate_backend`` on PostgreSQL), standing in for a
server that restarts or drops connections mid-activation. DataJoint cannot
transparently reconnect inside a transaction and raises ``LostConnectionError``
("Connection was lost during a transaction"). The report must say the server
connection was lost, not blame the Element's definitions.
"""
