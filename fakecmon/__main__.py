from fakecmon.cli import main

raise SystemExit(main())
