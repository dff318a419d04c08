"""Actions: the only code that writes. One module per domain.

Each public action opens one transaction, changes rows, and publishes its
events after the commit (``Services.transaction``). Handlers parse and
validate input, then call actions; they never touch the database themselves.
"""
