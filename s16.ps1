. /tmp/accept-a/env.ps1
$new = ConvertTo-SecureString 'NewPassphrase-Secret-Long-99' -AsPlainText -Force
"--- prune during backup"; $t=[datetime]::Now; try { Remove-AzBackupUnusedData -Passphrase $new -Confirm:$false -ErrorAction Stop | fl * } catch { show $_ }; "took $(([datetime]::Now-$t).TotalSeconds)s"
"--- 2nd backup during backup"; try { Start-AzBackup -Path /tmp/accept-a/src/etc -Passphrase $new -ErrorAction Stop | select PointId } catch { show $_ }
"--- restore during backup"; try { Start-AzRecovery -PointId latest -Target /tmp/accept-a/rlock -Passphrase $new -Confirm:$false -ErrorAction Stop | select Files } catch { show $_ }
