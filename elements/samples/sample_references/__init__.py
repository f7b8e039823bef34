"""sample-references: every form of reference a definition can make.

``-> Subject.proj(father="subject")`` (renamed), ``-> reference.Atlas``
(qualified: ``reference`` is a module-like object of the linking module),
``-> [nullable] Device``, ``-> master`` inside a Part table, and a Computed
table. The mock linking module must give ``Subject`` a primary key attribute
named ``subject`` (demanded by the renames) and a ``reference`` object with an
``Atlas`` table.
"""
