import CLibSSH2
