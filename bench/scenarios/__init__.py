"""One module per scenario; ``*_worker`` modules hold what runs in the client processes."""
