"""The Rasa action server's actions: thin glue between Rasa and the msgops services."""
