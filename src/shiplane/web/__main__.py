"""``python -m shiplane.web``: the dashboard process ``shiplane up`` starts."""

from shiplane.web.server import main

raise SystemExit(main())
