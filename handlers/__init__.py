"""Request handlers of the tutorial app: one module per tutorial step, and the tutorial's machinery apart.

A step's module (``overview``, ``standalone``, ``flash``, ``database``) reads
like its Iris example: plain handlers that call the session API and write the
example's response texts, then ``routes()``. ``tutorial/`` serves them with the
step pages, forms, click report, inspector and error pages layered on; the
teaching text lives in ``templates/``.
"""
