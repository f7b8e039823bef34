"""Report formats built from :class:`harness.session.RunReport`."""
