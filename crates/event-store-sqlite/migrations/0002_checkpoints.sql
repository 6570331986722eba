-- Signed checkpoints of the transparency log (see docs/transparency-log.md): one signed note per tree size.
-- The note is stored as signed; the tree size is repeated as a column only to find and order the notes.
CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY CHECK (tree_size > 0),
    note      TEXT    NOT NULL
) STRICT;
