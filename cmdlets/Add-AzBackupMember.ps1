function Add-AzBackupMember {
    <#
    .SYNOPSIS
        Adds a member: another server this protection server reaches over SSH, with its host key checked.
    .DESCRIPTION
        A member is a server without AzBackup on it whose files and application dumps this server backs
        up over SSH (protection groups name it as -ComputerName). The member is stored in the AzBackup
        home (members/<name>.json, and its host keys in AzBackup's own members/known_hosts); the private
        key stays where you keep it, named by its path only. ssh runs with BatchMode, so a key with a
        passphrase must be in ssh-agent.

        Host-key checking is always on. The engine fetches the keys the member offers (ssh-keyscan) and
        trusts one only when you vouch for it: -HostKeyFingerprint matching one of them (read it on the
        member with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub; Windows: C:\ProgramData\ssh), or
        -AcceptNewHostKey, trust on first use, which a warning (AZB_MEMBER_HOST_KEY_TRUSTED_ON_FIRST_USE)
        says. With neither, or with a fingerprint the member does not offer, nothing is added and the
        error AZB_MEMBER_HOST_KEY_UNKNOWN names the fingerprints the member offered. When another member
        on the same host and port is already trusted with a key the member no longer offers, the error
        is AZB_MEMBER_HOST_KEY_CHANGED. Other errors: AZB_MEMBER_EXISTS (the name is taken),
        AZB_MEMBER_UNREACHABLE (no answer on the host and port), AZB_ARGS_INVALID (a name, host, user,
        fingerprint or identity file that is not usable), AZB_FILE_NOT_FOUND (no identity file there).
        Adding does not log in: Test-AzBackupMember does.
    .PARAMETER Name
        The member's name in AzBackup: 1 to 63 letters, digits, dots, dashes or underscores, starting
        with a letter or digit (e.g. db01). Protection groups and data sources refer to it.
    .PARAMETER ComputerName
        The member's DNS name or IP address (alias HostName). The port goes in -Port.
    .PARAMETER Port
        The SSH port on the member (1-65535). Default: 22.
    .PARAMETER UserName
        The account ssh logs in as on the member (e.g. backup, or CONTOSO\backup). Default: ssh's, the
        name of the account the engine runs as.
    .PARAMETER IdentityFile
        The private key file ssh offers (not the .pub). A relative path is resolved against the current
        location. It must be readable by its owner only, or ssh refuses it.
    .PARAMETER HostKeyFingerprint
        The SHA256 fingerprint of the member's host key, as ssh-keygen -lf prints it
        (SHA256: and 43 base64 characters), read on the member itself.
    .PARAMETER AcceptNewHostKey
        Trusts the keys the member offers now, unchecked (trust on first use). Use it only on a network
        you trust; a warning says it was used. Later connections still refuse a changed key.
    .EXAMPLE
        Add-AzBackupMember -Name db01 -ComputerName db01.contoso.com -UserName backup -IdentityFile /root/.ssh/azbackup_ed25519 -HostKeyFingerprint SHA256:Xb3gq0VdT0x3fZyHkBmH1r8e0zVn2t6B8p5cYw6Jd1o

        Adds db01, trusting only the host key with that fingerprint.
    .EXAMPLE
        Add-AzBackupMember -Name web01 -ComputerName 10.0.0.7 -Port 2222 -UserName root -IdentityFile ~/.ssh/id_ed25519 -AcceptNewHostKey | Test-AzBackupMember

        Adds web01 trusting the key it offers now (a warning says so), then logs in to check the member.
    .EXAMPLE
        Add-AzBackupMember -Name db02 -ComputerName db02 -IdentityFile ~/.ssh/id_ed25519 -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].Exception.Message

        Without a fingerprint nothing is added: the error (AZB_MEMBER_HOST_KEY_UNKNOWN) lists the
        fingerprints db02 offers, to compare with the ones read on db02.
    .OUTPUTS
        AzBackup.Member
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'Fingerprint')]
    [OutputType('AzBackup.Member')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string]$Name,

        [Parameter(Mandatory, Position = 1)]
        [Alias('HostName')]
        [ValidateNotNullOrEmpty()]
        [string]$ComputerName,

        [ValidateRange(1, 65535)]
        [int]$Port,

        [ValidateNotNullOrEmpty()]
        [string]$UserName,

        [Parameter(Mandatory)]
        [ValidateNotNullOrEmpty()]
        [string]$IdentityFile,

        [Parameter(ParameterSetName = 'Fingerprint')]
        [ValidateNotNullOrEmpty()]
        [string]$HostKeyFingerprint,

        [Parameter(Mandatory, ParameterSetName = 'FirstUse')]
        [switch]$AcceptNewHostKey
    )
    # The engine's working folder is not PowerShell's location: the key's path is resolved here.
    $arguments = @{ name = $Name; host = $ComputerName; identityFile = $PSCmdlet.GetUnresolvedProviderPathFromPSPath($IdentityFile) }
    if ($PSBoundParameters.ContainsKey('Port')) { $arguments.port = $Port }
    if ($UserName) { $arguments.user = $UserName }
    if ($HostKeyFingerprint) { $arguments.hostKeyFingerprint = $HostKeyFingerprint }
    if ($AcceptNewHostKey) { $arguments.acceptNewHostKey = $true }
    $endpoint = "$(if ($UserName) { "$UserName@" })${ComputerName}:$(if ($Port) { $Port } else { 22 })"
    $trust = if ($AcceptNewHostKey) { 'trusting the host key it offers now (first use)' } elseif ($HostKeyFingerprint) { "trusting host key $HostKeyFingerprint" } else { 'once its host key is known' }
    if ($PSCmdlet.ShouldProcess("member $Name", "Add member at $endpoint, $trust")) {
        Invoke-AzBackupEngine -Command 'member.add' -Arguments $arguments -Caller $PSCmdlet -Output Result
    }
}
