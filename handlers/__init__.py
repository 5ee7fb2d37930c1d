"""Request handlers of the tutorial app, one module per tutorial step.

Handlers stay thin: they call the session API and write the response texts of
the Iris examples; the teaching text lives in ``templates/``.
"""
