"""broken-timeout: must fail with class ``timeout``.

``activate`` blocks (``time.sleep(3600)``), standing in for an Element that
waits on a lock, a network share or a prompt during activation. The spec sets
``check.timeout = 3``; the harness must stop waiting after about three seconds,
report a timeout naming the module, and still tear the namespace down.
"""
