from outdial.cli import main

raise SystemExit(main())
