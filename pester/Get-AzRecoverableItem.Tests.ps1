BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:savedEnv = Save-AzBackupTestEnvironment
    $script:root = New-TestDirectory
    $script:srv = New-TestBackupServer -Root $root -HostName 'items-srv'
    $script:pp = $srv.Passphrase
    $script:data = New-TestDataTree -Path (Join-Path $root 'data')
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $data 'link-to-a') -Target 'a.txt'
    $script:point = Start-AzBackup -Path $data -Passphrase $pp
}
AfterAll {
    Restore-AzBackupTestEnvironment $script:savedEnv
    Remove-Item -LiteralPath $script:root -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzRecoverableItem' {
    BeforeEach { $env:AZBACKUP_HOME = $srv.Home; $env:AZBACKUP_PASSPHRASE = $null }

    It 'lists the top level of a point: the backed-up folder' {
        $top = Get-AzRecoverableItem -PointId $point.PointId -Passphrase $pp
        $top.PSObject.TypeNames[0] | Should -Be 'AzBackup.RecoverableItem'
        $top.Path | Should -Be $data
        $top.Type | Should -Be 'dir'
        $top.PointId | Should -Be $point.PointId
        $top.ServerId | Should -Be $srv.ServerId
        $top.Vault | Should -Be $srv.Vault
    }

    It 'lists a folder with -Path, with the size, mode and time of each item' {
        $items = @(Get-AzRecoverableItem -PointId $point.PointId -Path $data -Passphrase $pp)
        ($items.Name | Sort-Object) | Should -Be (@('a.txt', 'empty.dat', 'link-to-a', 'sub', 'with space.txt', 'ünïcødé.txt') | Sort-Object)
        $a = $items | Where-Object Name -EQ 'a.txt'
        $a.Path | Should -Be (Join-Path $data 'a.txt')
        $a.Type | Should -Be 'file'
        $a.Size | Should -Be (Get-Item -LiteralPath (Join-Path $data 'a.txt')).Length
        $a.Modified | Should -BeOfType [datetime]
        [math]::Abs(($a.Modified - (Get-Item -LiteralPath (Join-Path $data 'a.txt')).LastWriteTimeUtc).TotalSeconds) | Should -BeLessThan 1
        $a.Mode | Should -Be ([int](Get-Item -LiteralPath (Join-Path $data 'a.txt')).UnixFileMode)
        $link = $items | Where-Object Name -EQ 'link-to-a'
        $link.Type | Should -Be 'symlink'
        $link.Target | Should -Be 'a.txt'
    }

    It 'resolves a relative -Path against the current location' {
        Push-Location (Split-Path -Parent $data)
        try { $items = @(Get-AzRecoverableItem -PointId $point.PointId -Path "./$(Split-Path -Leaf $data)/sub" -Passphrase $pp) } finally { Pop-Location }
        $items.Count | Should -BeGreaterThan 0
        $items | ForEach-Object { $_.Path | Should -BeLike "$data/sub/*" }
    }

    It 'lists everything below with -Recurse' {
        $items = @(Get-AzRecoverableItem -PointId $point.PointId -Recurse -Passphrase $pp)
        $files = Get-ChildItem -LiteralPath $data -Recurse -Force
        $items.Count | Should -Be ($files.Count + 1)
        ($items | Where-Object Type -EQ 'file').Count | Should -Be ($files | Where-Object { -not $_.PSIsContainer -and -not $_.LinkType }).Count
        ($items | Where-Object Path -EQ (Join-Path $data 'sub/b.bin')).Size | Should -Be 1500000
    }

    It 'finds items by name with -Filter, searching the whole point' {
        $txt = @(Get-AzRecoverableItem -PointId $point.PointId -Filter '*.txt' -Passphrase $pp)
        ($txt.Name | Sort-Object) | Should -Be (@('a.txt', 'c.txt', 'with space.txt', 'ünïcødé.txt') | Sort-Object)
        (Get-AzRecoverableItem -PointId $point.PointId -Path (Join-Path $data 'sub') -Filter '*.txt' -Passphrase $pp).Name | Should -Be 'c.txt'
    }

    It 'takes PointId, Vault and ServerId from Get-AzRecoveryPoint in the pipeline' {
        $items = Get-AzRecoveryPoint -Passphrase $pp | Select-Object -Last 1 | Get-AzRecoverableItem -Recurse -Passphrase $pp
        ($items.PointId | Select-Object -Unique) | Should -Be $point.PointId
        $items.Path | Should -Contain (Join-Path $data 'sub/deeper/c.txt')
    }

    It 'lists the contents of a folder item piped in from its own output' {
        $sub = Get-AzRecoverableItem -PointId $point.PointId -Path $data -Passphrase $pp | Where-Object Name -EQ 'sub'
        ($sub | Get-AzRecoverableItem -Passphrase $pp).Name | Sort-Object | Should -Be @('b.bin', 'deeper')
    }

    It 'accepts a unique prefix of the point ID and ''latest''' {
        (Get-AzRecoverableItem -PointId $point.PointId.Substring(0, 10) -Passphrase $pp).Path | Should -Be $data
        (Get-AzRecoverableItem -PointId 'latest' -Passphrase $pp).PointId | Should -Be $point.PointId
    }

    It 'refuses <Case> with <Code>' -ForEach @(
        @{ Case = 'an unknown point'; Code = 'AZB_POINT_NOT_FOUND'; Change = { @{ PointId = 'deadbeef0000' } } }
        @{ Case = 'a path that is not in the point'; Code = 'AZB_ITEM_NOT_FOUND'; Change = { @{ Path = (Join-Path $data 'no-such-file') } } }
        @{ Case = 'a wrong passphrase'; Code = 'AZB_PASSPHRASE_WRONG'; Change = { @{ Passphrase = (New-TestSecureString 'not the right passphrase') } } }
        @{ Case = 'a folder that is not a vault'; Code = 'AZB_VAULT_NOT_A_VAULT'; Change = { @{ Vault = $data } } }
    ) {
        $params = @{ PointId = $point.PointId; Passphrase = $pp; ErrorAction = 'Stop' }
        $extra = & $Change
        foreach ($key in $extra.Keys) { $params[$key] = $extra[$key] }
        $err = { Get-AzRecoverableItem @params } | Should -Throw -ErrorId "$Code,Get-AzRecoverableItem" -PassThru
        $err.CategoryInfo.Category | Should -BeIn @('ObjectNotFound', 'AuthenticationError', 'InvalidData')
    }
}
