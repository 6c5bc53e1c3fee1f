Message-ID: <m4@adatum.example>
Date: Tue, 10 Oct 2023 09:15:42 +0000
From: "Arbor, Ann" <ann@adatum.example>
To: Alice Smith <alice@contoso.com>
Subject: Pilot results (short version)
Content-Type: text/plain

Same sender and second as the pilot results, but another recipient set: a different email.
