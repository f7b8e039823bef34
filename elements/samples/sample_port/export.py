"""Exports: the constructs a person must port (no mechanical replacement exists)."""

import datajoint as dj

from .acquisition import Recording, schema

prefix = dj.config["custom"]["database.prefix"]
legacy_prefix = dj.config.get("custom", {}).get("database.prefix", "")


class Summary(dj.Computed):
    definition = """
    -> Recording
    channel: int           # one row per channel: a key of its own
    ---
    mean: float
    count: smallint unsigned
    """


def save():
    dj.config.save_local()


def stop_queries():
    dj.kill()


def download(path):
    return Recording.fetch("trace", download_path=path)


def reset(confirm):
    schema.drop(force=confirm)


def configured():
    return "custom" in dj.config


def footprint():
    return schema.size_on_disk
