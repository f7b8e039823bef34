"""Database servers: where they come from (container, reused container, external) and
how each backend (MySQL, MariaDB, PostgreSQL) is driven. See docs/architecture.md."""
