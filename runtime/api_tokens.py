"""Rasa's HTTP API with a JWT secret (`--enable-api --jwt-secret`): the tokens' check made strict
(docs/security.md). Rasa hands the check to sanic-jwt 1.8, which decodes with 180 s of leeway for
clocks, takes a token without `exp` as one that never expires, and lets PyJWT's error for a token
of another algorithm (`none`, HS384, HS512) or of none (`e30.e30.`) escape: a 500 with a traceback.
"""
from typing import Any, Callable

import jwt

# Seconds a token is still taken after its `exp`, for clocks that differ a little.
LEEWAY = 5


def strictly_checked(decode: Callable) -> Callable:
    """sanic-jwt's `Authentication._decode`, checking each token with PyJWT first: signed with the
    configured algorithm alone (HS256: `make run` sets no other), `exp` required and at most
    LEEWAY seconds past. An expired token raises what sanic-jwt answers 401, any other invalid one
    DecodeError (also 401); a token that passes is decoded as before."""

    async def _decode(self: Any, token: str, verify: bool = True,
                      inline_claims: Any = None) -> Any:
        if verify:
            try:
                jwt.decode(token, await self._get_secret(token=token),
                           algorithms=[self._get_algorithm()], leeway=LEEWAY,
                           options={"require": ["exp"]})
            except jwt.ExpiredSignatureError:
                raise
            except jwt.InvalidTokenError as error:
                raise jwt.DecodeError(f"Invalid token: {error}") from error
        return await decode(self, token, verify, inline_claims)

    _decode.__wrapped__ = decode
    return _decode
