"""The commands, one module each: plain typed functions that cli.py calls once it has parsed the
options. They read the config and talk to the engine through the modules below them; errors are
raised as BuildcacheError and turned into exit codes by cli.main."""
