"""The pieces of a pip -> uv rewrite, planned as text and edits: where the lock lands, the uv
command, how uv gets into the stage, the layer order. Pure; composed by
``dockerlock.rules.convert_pip_install`` into one ``Fix`` per pip step."""
