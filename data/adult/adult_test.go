package adult

import "testing"

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Record
		want string
	}{
		{
			// the first row of adult.data, written out by hand
			"adult.data row 1",
			Record{39, "State-gov", 77516, "Bachelors", 13, "Never-married", "Adm-clerical", "Not-in-family", "White", "Male", 2174, 0, 40, "United-States", false},
			"A person in 1996 has the following attributes: age 39, workclass State-gov, final weight 77516, education Bachelors, highest education level 13, marital status Never-married, occupation Adm-clerical, relationship Not-in-family, race White, sex Male, capital gain 2174, capital loss 0, hours per week 40, native country United-States.\npredict whether the annual income of the person is greater than $50k:",
		},
		{
			"missing values",
			Record{18, "?", 103497, "Some-college", 10, "Never-married", "?", "Own-child", "White", "Female", 0, 0, 30, "?", true},
			"A person in 1996 has the following attributes: age 18, workclass unknown, final weight 103497, education Some-college, highest education level 10, marital status Never-married, occupation unknown, relationship Own-child, race White, sex Female, capital gain 0, capital loss 0, hours per week 30, native country unknown.\npredict whether the annual income of the person is greater than $50k:",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Text(); got != tc.want {
				t.Fatalf("Text() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	r := Record{Workclass: "?"}
	if !r.HasMissing() || (&Record{Workclass: "Private"}).HasMissing() {
		t.Fatal("HasMissing wrong")
	}
	if (&Record{HighIncome: true}).Label() != 1 || (&Record{}).Label() != 0 {
		t.Fatal("Label wrong")
	}
}
