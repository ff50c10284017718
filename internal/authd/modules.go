package authd

import "gocourier/internal/pwhash"

// BuildModules creates the modules named in cfg.ModuleList, in order.
// Names we do not implement yet (authpam, authshadow, authpwd, authldap,
// authpgsql, authmysql, authsqlite, authcustom, authpipe) are logged and
// skipped, so a Courier authdaemonrc works unchanged; a PRE that names such
// a module then gets FAIL, as for any module that is not loaded (§10.2).
//
// The modules share one verification cache of cfg.AuthCacheSize entries
// (pwhash.Cache), made here, so a SIGHUP (which builds new modules)
// starts with an empty cache and a new key.
func BuildModules(cfg *Config, logf func(string, ...any)) []Module {
	cache, err := pwhash.NewCache(cfg.AuthCacheSize)
	if err != nil && logf != nil {
		logf("authdaemond: password cache off: %v", err)
	}
	var mods []Module
	seen := map[string]bool{}
	for _, name := range cfg.ModuleList {
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "authuserdb":
			m := NewUserDBModule(cfg.UserDB, logf)
			m.Cache = cache
			mods = append(mods, m)
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
