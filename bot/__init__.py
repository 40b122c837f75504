"""The Discord side: the client, settings, rendering and error handling."""
