"""The live core: what both websockets (the widget's and the workspace's) are built on.

``socket`` (frames checked in, typed out, one final close), ``feed`` (the
transcript in ``seq`` order, each message once, gaps read from the database),
``supervisor`` (a connection's tasks watched together), ``hub`` (what one
process does for all its connections: one queue snapshot per change, presence
and resync in batches) and ``widget`` (the widget's adapter; the workspace's is
``counsellor_ui/ws.py``).
"""
