"""The law as data and pure functions: figures with their sources, the business calendar,
the rate book and late interest. Imports only app.core."""
