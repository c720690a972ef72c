BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '../../module/AzBackup.psd1') -Force
    $script:commands = @(Get-Command -Module AzBackup)
}
BeforeAll {
    $script:manifestPath = Join-Path $PSScriptRoot '../../module/AzBackup.psd1'
    Import-Module $script:manifestPath -Force
    $script:manifest = Test-ModuleManifest -Path $script:manifestPath
}

Describe 'AzBackup module manifest' {
    It 'is a valid manifest for PowerShell 7.2+ Core only' {
        $manifest.PowerShellVersion | Should -Be ([version]'7.2')
        $manifest.CompatiblePSEditions | Should -Be @('Core')
    }

    It 'exports exactly the cmdlets in cmdlets/, one file per cmdlet' {
        $files = Get-ChildItem (Join-Path $PSScriptRoot '../../cmdlets') -Filter '*.ps1' | ForEach-Object BaseName | Sort-Object
        ($manifest.ExportedFunctions.Keys | Sort-Object) | Should -Be $files
        (Get-Command -Module AzBackup).Name | Sort-Object | Should -Be $files
    }

    It 'keeps private helpers private' {
        Get-Command -Module AzBackup -Name Invoke-AzBackupEngine -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'loads its formats and types' {
        Get-FormatData -TypeName AzBackup.Certificate | Should -Not -BeNullOrEmpty
        Get-FormatData -TypeName AzBackup.CertificateRule | Should -Not -BeNullOrEmpty
        (Get-TypeData -TypeName AzBackup.Certificate).Members.Keys | Should -Contain 'Path'
    }

    It 'has an about_AzBackup help topic' {
        (Get-Help about_AzBackup | Out-String) | Should -BeLike '*AzBackup*passphrase*'
    }
}

Describe 'Command <_.Name>' -ForEach $commands {
    BeforeAll { $script:help = Get-Help $_.Name -Full }

    It 'uses an approved verb' {
        (Get-Verb).Verb | Should -Contain $_.Verb
    }

    It 'has a synopsis, a description and at least two examples' {
        $help.Synopsis | Should -Not -BeLike "*$($_.Name)*[[]*" # not the auto-generated syntax line
        ($help.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
    }

    It 'documents every parameter' {
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($name in $_.Parameters.Keys | Where-Object { $_ -notin $common }) {
            $parameterHelp = $help.Parameters.Parameter | Where-Object Name -EQ $name
            ($parameterHelp.Description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "parameter -$name needs help"
        }
    }

    It 'supports ShouldProcess when it changes state' {
        # These only build or change a policy object in memory (as MSOnlineBackup's New-OBPolicy,
        # Add-OBFileSpec and Set-OBSchedule do); Set-AzBackupPolicy is what saves it, with -WhatIf.
        $objectBuilders = 'New-AzBackupPolicy', 'New-AzBackupFileSpec', 'Add-AzBackupFileSpec', 'Remove-AzBackupFileSpec',
        'New-AzBackupSchedule', 'Set-AzBackupSchedule', 'New-AzBackupRetentionPolicy', 'Set-AzBackupRetentionPolicy'
        if ($_.Name -in $objectBuilders) {
            $_.Parameters.Keys | Should -Not -Contain 'WhatIf'
        } elseif ($_.Verb -in 'New', 'Set', 'Remove', 'Add', 'Register', 'Unregister', 'Update', 'Start', 'Stop', 'Restore', 'Suspend', 'Resume', 'Repair', 'Enable') {
            $_.Parameters.Keys | Should -Contain 'WhatIf'
        } else {
            $_.Parameters.Keys | Should -Not -Contain 'WhatIf'
        }
    }
}
