"""Response models and closed choices of the HTTP API, one module per resource.

Every route declares one of these as its ``response_model``, so ``/openapi.json``
describes each answer. Closed models (:class:`~service.api.models.common.Closed`)
forbid unknown keys: a field added to an answer without its model fails loudly
(a 500 in the tests) rather than vanishing. Open models
(:class:`~service.api.models.common.Open`) are used only where the payload is
open by nature, and say why in their docstring. Routes answer with
``response_model_exclude_unset=True``, so a key absent from an answer stays absent.
"""
