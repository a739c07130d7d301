"""UK Open Banking v4.0 for TPPs: the OB dialect (envelopes, errors, x-fapi headers) over core banking's facade."""
