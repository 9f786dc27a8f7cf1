"""`GET /v1/account` (reelforge's own route on the native API; OpenAI has none): the calling key's
account, so a client such as the web studio can show its balance, limits and videos under way
without an admin key. The service gives the view (service/accounts.py); this module translates it.

Decisions [open]:
- Any valid key may read its own account, and only its own; the request counts as a read. 401 in
  the OpenAI error shape without a usable key.
- Money is a decimal string with 4 places, as balances are kept (`"12.3400"`); null: unlimited.
  `rpm` is the create limit that applies to the key (its own, else REELFORGE_CREATE_RPM),
  `read_rpm` REELFORGE_READ_RPM.
- In `REELFORGE_AUTH=open` mode every key is its own implicit account: balance and concurrency
  null (nothing is billed or capped), `name` and `key.name` `user-<8 characters of its id>`.
"""

from fastapi import APIRouter

from reelforge.api.auth import CallerDep
from reelforge.api.deps import LimitsDep, ServiceDep
from reelforge.api.dialects.openai.wire import OpenAIAccount, OpenAIError, account_object
from reelforge.api.openapi import error_responses

PREFIXES = ("/v1/account",)
router = APIRouter(
    prefix="/v1", tags=["Account (native)"], responses=error_responses(OpenAIError, 401, 429, 500)
)


@router.get("/account", response_model=OpenAIAccount)
def get_account(service: ServiceDep, caller: CallerDep, limits: LimitsDep) -> dict:
    return account_object(service.accounts.view(caller), caller, limits.create_rpm(caller), limits.read_rpm)
