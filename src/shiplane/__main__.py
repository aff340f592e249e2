from shiplane.cli import main

raise SystemExit(main())
