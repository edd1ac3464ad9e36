// docker-modem loads its ssh transport (and with it ssh2) when it loads; only ssh:// hosts need it.
// This stub loads it on the first ssh:// connection instead.
module.exports = function ssh(options) {
  return require('docker-modem/lib/ssh.js')(options);
};
