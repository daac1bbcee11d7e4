"""``--web.config.file``: the exporter-toolkit web configuration, as every Go exporter reads it.

``schema`` holds the typed configuration and its strict parser, ``source`` re-reads the file
when it changes, ``tls`` builds TLS contexts (rebuilt per connection from the file),
``auth`` checks basic-auth credentials with bcrypt and limits the request rate, and
``middleware`` applies all of it to every request as the outermost ASGI app.
"""
