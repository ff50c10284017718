package authd

// BuildModules creates the modules named in cfg.ModuleList, in order.
// Names we do not implement yet (authpam, authshadow, authpwd, authldap,
// authpgsql, authmysql, authsqlite, authcustom, authpipe) are logged and
// skipped, so a Courier authdaemonrc works unchanged; a PRE that names such
// a module then gets FAIL, as for any module that is not loaded (§10.2).
func BuildModules(cfg *Config, logf func(string, ...any)) []Module {
	var mods []Module
	seen := map[string]bool{}
	for _, name := range cfg.ModuleList {
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "authuserdb":
			mods = append(mods, NewUserDBModule(cfg.UserDB, logf))
		default:
			if logf != nil {
				logf("authdaemond: module %s is not implemented, skipped", name)
			}
		}
	}
	return mods
}

// Reloader is implemented by modules that cache data (SIGHUP).
type Reloader interface {
	Reload() error
}
