"""The data round-trip check: do the declared tables accept rows and give them back?

``stores`` configures a temporary store for every store an Element's definitions
name; ``columns`` reads DataJoint's headings (0.14 and 2.x) into one description
per attribute and synthesizes values for it; ``compare`` says exactly how a
fetched value differs from the inserted one; ``check`` fills every table in
dependency order, reads it back and deletes it from the roots.
"""
