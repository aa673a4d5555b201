"""Request and response schemas of the v1 API, one module per area, named as in the
spec's Schemas section.

Results are the domain's types (:mod:`core.results`, :mod:`core.plugins.types`) under
the spec's names; ``/openapi.json`` shows those names (``api.openapi``). Times are
seconds; coordinates pixels; ``at_char`` a character offset into the audio segment's
text.
"""

from api.schemas.archive import *  # noqa: F403
from api.schemas.archive import __all__ as _archive
from api.schemas.audio import *  # noqa: F403
from api.schemas.audio import __all__ as _audio
from api.schemas.auth import *  # noqa: F403
from api.schemas.auth import __all__ as _auth
from api.schemas.common import *  # noqa: F403
from api.schemas.common import __all__ as _common
from api.schemas.comparison import *  # noqa: F403
from api.schemas.comparison import __all__ as _comparison
from api.schemas.health import *  # noqa: F403
from api.schemas.health import __all__ as _health
from api.schemas.image import *  # noqa: F403
from api.schemas.image import __all__ as _image
from api.schemas.task import *  # noqa: F403
from api.schemas.task import __all__ as _task

__all__ = [*_archive, *_audio, *_auth, *_common, *_comparison, *_health, *_image, *_task]
